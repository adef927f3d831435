"""The names a store is found by: its directory, files and environment variables.

Plain constants, apart from :mod:`jupyter_mm.config` (which imports traitlets), so that the
command line can name them in its help without paying for the configuration machinery.
"""

STORE_DIR_NAME = ".jupyter_mm"
DB_FILE = "mm.db"
OBJECTS_DIR = "objects"
ENV_STORE = "JUPYTER_MM_STORE"
ENV_ARTIFACTS = "JUPYTER_MM_ARTIFACTS"
