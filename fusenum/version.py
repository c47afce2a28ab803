"""fusenum's version, in one place: the package's ``__version__``, the distribution's version
(``pyproject.toml`` reads it) and the disk cache's key."""
__version__ = "0.1.0"
