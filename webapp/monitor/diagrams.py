"""The BPMN files behind the diagram pages (流程图, 热力图): which file draws which process, served as XML."""

from __future__ import annotations

import threading

from flask import Response
from flask import abort

from processes.engine.diagram_state import DiagramFile
from processes.engine.diagram_state import diagram_index
from processes.runtime.models import ProcessDefinition

_CACHE: dict[tuple[int, str], dict[str, DiagramFile]] = {}
_LOCK = threading.Lock()
_CACHE_SIZE = 64


def index_of(definition: ProcessDefinition) -> dict[str, DiagramFile]:
    """Return the diagrams of a definition version by process id; a version never changes, so it is kept."""
    key = (definition.id, definition.sha256)
    with _LOCK:
        found = _CACHE.get(key)
    if found is None:
        found = diagram_index(definition.files)
        with _LOCK:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.clear()
            _CACHE[key] = found
    return found


def process_name(index: dict[str, DiagramFile], process_id: str) -> str:
    """Return the Chinese name a diagram gives its process, or its id."""
    drawn = index.get(process_id)
    return (drawn.names.get(process_id) if drawn else "") or process_id


def element_names(index: dict[str, DiagramFile]) -> dict[str, str]:
    """Return the names of every element of every diagram of a version, by BPMN id."""
    names: dict[str, str] = {}
    for drawn in index.values():
        names.update({k: v for k, v in drawn.names.items() if v})
    return names


def xml_response(definition: ProcessDefinition, process_id: str) -> Response:
    """Answer the BPMN XML of the file that draws `process_id` in this version (404 for an unknown process)."""
    drawn = index_of(definition).get(process_id)
    if drawn is None:
        abort(404)
    response = Response(definition.files[drawn.filename], mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=3600"  # a version's files never change
    return response
