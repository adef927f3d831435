"""The names a store is found by: its directory, files and environment variables.

Plain constants, apart from :mod:`jupyter_mm.config` (which imports traitlets), so that the
command line can name them in its help without paying for the configuration machinery.
"""

STORE_DIR_NAME = ".jupyter_mm"
DB_FILE = "mm.db"
OBJECTS_DIR = "objects"
ENV_STORE = "JUPYTER_MM_STORE"
ENV_ARTIFACTS = "JUPYTER_MM_ARTIFACTS"
#: set by the server extension to its root directory, and so inherited by the kernels it
#: starts: a kernel that creates the store (no store above it, no git repository) creates
#: it there, where the server looks for it
ENV_SERVER_ROOT = "JUPYTER_MM_SERVER_ROOT"
