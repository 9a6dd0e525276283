"""JSON shapes of the reference endpoints (/v1/users, /v1/departments, /v1/ivrs, /v1/my_number).

Shapes follow the vendor docs quoted in the API notes §4, including their quirks: department
numbers arrive as strings, ``/v1/departments`` and ``/v1/my_number`` are bare arrays, and
``/v1/users`` pages with a ``last_seen_id`` cursor.
"""

from __future__ import annotations

from typing import Any

from .people import Team


def user_rows(team: Team) -> list[dict[str, Any]]:
    """Every user, ordered by id ascending (the cursor order)."""
    rows = []
    for a in sorted(team.agents, key=lambda a: a.user_id):
        rows.append(
            {
                "id": a.user_id,
                "name": a.name,
                "agent": {
                    "id": a.agent_id,
                    "name": a.name,
                    "status": a.status,
                    "follow_me_number": a.phone,
                },
                "login_id": a.email,
                "is_login_based_calling_enabled": a.extension is not None,
                "is_international_outbound_enabled": a.index % 5 == 0,
                "user_role": {"id": a.role[0], "name": a.role[1]},
                "extension": a.intercom,
                "user_status": 1 if a.status != 2 else 0,
            }
        )
    return rows


def users_page(team: Team, *, limit: int, last_seen_id: int | None) -> dict[str, Any]:
    """One cursor page: rows with id > ``last_seen_id``, at most ``limit`` of them."""
    rows = [r for r in user_rows(team) if last_seen_id is None or r["id"] > last_seen_id]
    page = rows[:limit]
    return {
        "has_more": len(rows) > len(page),
        "count": len(page),
        "last_seen_id": page[-1]["id"] if page else last_seen_id,
        "data": page,
    }


def restyle_numbers(page: dict[str, Any], style: str) -> dict[str, Any]:
    """The cursor envelope's numbers (``count``, ``last_seen_id``) as strings or floats."""
    convert = str if style == "string" else float
    out = dict(page)
    for key in ("count", "last_seen_id"):
        if isinstance(out[key], int):
            out[key] = convert(out[key])
    return out


def departments(team: Team) -> list[dict[str, Any]]:
    """All departments; counters as strings like the real API."""
    out = []
    for d in team.departments:
        members = [team.agents[i] for i in d.agents]
        out.append(
            {
                "id": d.dept_id,
                "name": d.name,
                "description": f"{d.name} team",
                "ring_strategy": d.ring_strategy,
                "agent_count": str(len(members)),
                "calls_answered": "0",
                "calls_missed": "0",
                "use_as_queue": d.use_as_queue,
                "queue_timeout": str(d.queue_timeout),
                "sticky_agent": {},
                "transcription": {},
                "timeout_dest_type": "voicemail" if d.use_as_queue else None,
                "timeout_destination": None,
                "agents": [
                    {"id": a.agent_id, "name": a.name, "eid": str(a.user_id), "timeout": "30"}
                    for a in members
                ],
            }
        )
    return out


def ivrs(team: Team) -> dict[str, Any]:
    """All IVRs with their menus (``destination_id`` is the department id)."""
    return {
        "ivrs": [
            {
                "id": ivr.ivr_id,
                "name": ivr.name,
                "description": f"{ivr.name} greeting",
                "recording": f"{ivr.name.lower().replace(' ', '_')}.wav",
                "timeout": ivr.timeout,
                "invalid_retries": 2,
                "ivr_menu": [
                    {
                        "option": option,
                        "destination_type": "department",
                        "destination_id": team.departments[dept].dept_id,
                        "sms_template_id": None,
                        "webhook_id": None,
                    }
                    for option, dept in ivr.options
                ],
            }
            for ivr in team.ivrs
        ]
    }


def my_numbers(team: Team) -> list[dict[str, Any]]:
    """The account's DIDs and where each routes (``destination`` null when unassigned)."""
    out = []
    for did in team.dids:
        if did.ivr is not None:
            ivr = team.ivrs[did.ivr]
            name, dest = ivr.name, f"ivr||{ivr.ivr_id}"
        elif did.department is not None:
            dept = team.departments[did.department]
            name, dest = dept.name, f"department||{dept.dept_id}"
        else:
            name, dest = None, None
        out.append(
            {
                "id": did.number_id,
                "did": did.did,
                "alias": did.alias,
                "destination_name": name,
                "destination": dest,
            }
        )
    return out
