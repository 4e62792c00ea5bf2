"""Northstar: a dbt-style, declarative metrics pipeline over DuckDB.

Import what you need from the stage packages (``northstar.project.loader``, ``northstar.engine.pipeline``...);
this package module stays empty of heavy imports so that ``metrics --help`` starts fast.
"""

__version__ = "0.1.0"
