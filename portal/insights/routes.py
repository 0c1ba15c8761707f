from flask import flash, redirect, render_template, url_for
from redis.exceptions import RedisError

from portal import jobs
from portal.access import owner_required
from portal.insights import bp, views
from portal.tenancy import current_org


@bp.get("/")
def index():
    return render_template("insights/index.html", page=views.page(current_org().id))


@bp.post("/refit")
@owner_required
def refit():
    try:
        queued = jobs.enqueue_fit(current_org().id)
    except RedisError:
        flash("The job queue cannot be reached right now; please try again in a minute.", "error")
    else:
        flash("A new fit is queued. It takes from a few seconds to a few minutes; reload this page to see it."
              if queued else "A fit of this organization is already queued or running.", "info")
    return redirect(url_for("insights.index"), code=303)
