"""``/login`` and ``/logout``: the page login needed off loopback.

The user name is an API token's name and the password is the token itself
(``station token create NAME`` prints it once): one kind of secret for the
API and the pages, made and revoked in one place. See web/security.py.
"""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for

from station.domain.tokens import verify_login

from ..db import transaction
from ..security import log_in, log_out
from .forms import back, done

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site: a login must never redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("stations.overview")


@bp.get("/login")
def login_form():
    return render_template("login.html", next=safe_next(request.args.get("next")), message=None)


@bp.post("/login")
def login():
    name = request.form.get("name", "").strip()
    token = request.form.get("token", "").strip()
    target = safe_next(request.form.get("next"))
    with transaction() as session:
        row = verify_login(session, name, token)
        if row is not None:
            log_in(row)
    if row is None:
        flash("Refused: that name and token do not match a token of this station.", "error:login_failed")
        return back(url_for(".login_form", next=target))
    done(f"Logged in as {name}.")
    return back(target)


@bp.post("/logout")
def logout():
    log_out()
    done("Logged out.")
    return back(url_for("stations.overview"))
