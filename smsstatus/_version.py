"""The version of smsstatus, in one place for every module that names it."""

__version__ = "0.2.0"
