"""Tasks of this analysis (created by ``pipekit quickstart``)."""
