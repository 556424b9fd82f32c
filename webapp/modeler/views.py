"""Read-only pages of the workbench: processes, versions, a version's diagram and file, the diff of two versions."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.errors import NotFound
from processes.errors import RuntimeErrorBase
from processes.modeling import diff as diffing
from processes.modeling import versions
from processes.runtime.models import ProcessDefinition
from webapp.context import runtime
from webapp.modeler import bp
from webapp.modeler import texts
from webapp.params import positive_int
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.timefmt import local_time


def find(key: str, version: int) -> ProcessDefinition:
    """Return a version or answer 404."""
    with runtime().read() as db:
        try:
            return versions.get_version(db, key, version)
        except NotFound:
            abort(404)


def summary(key: str) -> versions.ProcessSummary:
    """Return one process's versions or answer 404."""
    with runtime().read() as db:
        found = versions.summaries(db, key)
    if not found:
        abort(404)
    return found[0]


def may(endpoint: str) -> bool:
    """Return whether the signed-in user's roles let them use an endpoint (to show its buttons)."""
    return allowed(RULES.get(endpoint), signed_in=True, roles=current_user.roles)


@bp.context_processor
def helpers() -> dict[str, Any]:
    """Give the workbench's templates local times, status labels and the permission check for buttons."""
    return {"when": lambda at: local_time(at, "%Y-%m-%d %H:%M") if at else "—", "status_labels": texts.STATUS,
            "may": may}


@bp.get("")
def index() -> ResponseReturnValue:
    """Every process: its published version, drafts and running instances per version."""
    with runtime().read() as db:
        shown = versions.summaries(db)
    return render_template("modeler/index.html", processes=shown)


def versions_page(key: str, *, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    """Render the versions of a process, with an error above them when an action was refused."""
    return render_template("modeler/versions.html", process=summary(key), error=error), status


@bp.get("/<key>")
def versions_list(key: str) -> ResponseReturnValue:
    """The versions of one process: author, time, status, sha256, publisher and instance counts."""
    return versions_page(key)


def bpmn_names(row: ProcessDefinition) -> list[str]:
    """The diagram files of a version, the main one first."""
    main = versions.main_file(row)
    return [main, *sorted(n for n in row.files if n.endswith(".bpmn") and n != main)]


def chosen_file(row: ProcessDefinition) -> str:
    """The diagram file asked for (?file=), else the main one; an unknown name answers 404."""
    name = request.args.get("file") or versions.main_file(row)
    if name not in row.files or not name.endswith(".bpmn"):
        abort(404)
    return name


@bp.get("/<key>/v<int:version>")
def diagram(key: str, version: int) -> ResponseReturnValue:
    """A version's diagram, read only (bpmn-js viewer)."""
    row = find(key, version)
    return render_template("modeler/diagram.html", row=row, files=bpmn_names(row), file=chosen_file(row))


@bp.get("/<key>/v<int:version>/xml")
def xml(key: str, version: int) -> ResponseReturnValue:
    """The XML of one diagram file of a version, as text for the viewer."""
    row = find(key, version)
    return Response(str(row.files[chosen_file(row)]), mimetype="text/plain")


@bp.get("/<key>/v<int:version>/download")
def download(key: str, version: int) -> ResponseReturnValue:
    """Download a version: its .bpmn file, or a zip of the bundle when it has more files (forms, called processes)."""
    row = find(key, version)
    if len(row.files) == 1:
        name = next(iter(row.files))
        return Response(str(row.files[name]), mimetype="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{key}-v{version}.bpmn"'})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(row.files):
            bundle.writestr(f"{key}/{name}", str(row.files[name]))
    return Response(buffer.getvalue(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{key}-v{version}.zip"'})


def _pair(process: versions.ProcessSummary) -> tuple[int, int]:
    """The two versions to compare (?a=older&b=newer); defaults: the published one and the newest."""
    numbers = [v.definition.version for v in process.versions]
    published = process.published.definition.version if process.published else None
    newest = numbers[0]
    default_a = published if published is not None and published != newest else (numbers[1] if len(numbers) > 1
                                                                                 else newest)
    a, b = (positive_int(request.args.get(name, str(default))) for name, default in (("a", default_a), ("b", newest)))
    if a is None or b is None:
        abort(400, description=gettext(texts.BAD_VERSION))
    if a not in numbers or b not in numbers:
        abort(404)
    return a, b


@bp.get("/<key>/diff")
def diff(key: str) -> ResponseReturnValue:
    """Two versions side by side: added, removed and changed elements marked on the diagrams and listed."""
    process = summary(key)
    a, b = _pair(process)
    old, new = find(key, a), find(key, b)
    try:
        result = diffing.compare(old.files, new.files)
    except RuntimeErrorBase as exc:  # a stored file the hardened parser refuses: say so, never a 500
        abort(400, description=str(exc))
    data: dict[str, Any] = result.as_json()
    return render_template("modeler/diff.html", process=process, old=old, new=new, diff=data, kinds=texts.KINDS,
                           aspects=texts.ASPECTS, types=texts.ELEMENT_TYPES, old_file=versions.main_file(old),
                           new_file=versions.main_file(new),
                           numbers=[v.definition.version for v in process.versions])
