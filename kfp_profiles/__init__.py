"""Named connection profiles for the Kubeflow Pipelines SDK."""
