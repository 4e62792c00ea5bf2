"""Loading a project: its files, settings and node config, from project.yml or a dbt project."""
