"""Forms drawn from JSON schemas (表单): the one pipeline behind intake screens (登记) and task pages (办理).

A schema becomes field descriptors (`describe`, with choices from the reference tables in `choices`); the one
macro `templates/schemaforms/_field.html` draws each field; what is submitted is read back into typed data for the
schema (`read`), and what was typed is kept for drafts and for showing the form again (`raw_values`, `shown`).
"""

from __future__ import annotations

from webapp.schemaforms.branches import relevant
from webapp.schemaforms.fields import Field
from webapp.schemaforms.fields import FormSpec
from webapp.schemaforms.fields import Lookup
from webapp.schemaforms.fields import Option
from webapp.schemaforms.fields import describe
from webapp.schemaforms.fields import is_start_form
from webapp.schemaforms.values import FILES_SUFFIX
from webapp.schemaforms.values import FormData
from webapp.schemaforms.values import Raw
from webapp.schemaforms.values import defaults
from webapp.schemaforms.values import input_time
from webapp.schemaforms.values import prefill
from webapp.schemaforms.values import raw_values
from webapp.schemaforms.values import read
from webapp.schemaforms.values import shown
from webapp.schemaforms.values import shown_value
from webapp.schemaforms.values import starting
from webapp.schemaforms.values import ticked
from webapp.schemaforms.values import undeclared

__all__ = ["FILES_SUFFIX", "Field", "FormData", "FormSpec", "Lookup", "Option", "Raw", "defaults", "describe",
           "input_time", "is_start_form", "prefill", "raw_values", "read", "relevant", "shown", "shown_value",
           "starting", "ticked", "undeclared"]
