"""The engine: the build pipeline, running nodes over the DAG, materializations and artifacts."""
