"""Rendering: Jinja with dbt's context, and compiling the project into a manifest of nodes."""
