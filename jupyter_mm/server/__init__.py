"""The jupyter-mm Jupyter server extension: a REST API under ``/jupyter-mm/api`` that reads
(and, for the registry, writes) the same store the kernel and the CLI use."""
