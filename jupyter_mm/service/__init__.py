"""The jupyter-mm registry service: the one writer of a team store's registry.

Run by JupyterHub as a managed service (``jupyter mm registry-service``); see
``docs/architecture.md#security-model-team-mode`` and README "Identity and permissions".
It authenticates every request by asking the hub whose token it carries, checks the
caller's roles (:mod:`jupyter_mm.permissions`), and makes the write with the registry's
database credentials, which users' servers and kernels do not have.
"""
