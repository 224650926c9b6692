"""Sphinx configuration: Markdown pages (MyST), the furo theme, and the API
reference generated from the docstrings.  Built with warnings as errors:
``sphinx-build -W --keep-going -b html docs docs/_build/html``."""

import sys
from pathlib import Path

# Document this checkout even when the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import smsstatus

project = "smsstatus"
author = "The smsstatus developers"
copyright = "the smsstatus developers"
release = version = smsstatus.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "examples/*.md"]
myst_heading_anchors = 3

# `name` in a docstring links to that object when it can be found.
default_role = "py:obj"
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_class_signature = "separated"

html_theme = "furo"
html_title = f"smsstatus {release}"
