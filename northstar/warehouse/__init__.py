"""The warehouse: the build lock, the private working copy and its atomic publish, and node state."""
