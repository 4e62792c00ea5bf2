from northstar.cli import console

console()
