"""The bare-framework baseline: one Starlette route answering 204, as a beacon would, with
no work behind it. Served by the same ASGI server as Backbeat, it is the ceiling any
Starlette endpoint can reach on this machine.

    uvicorn bench.bare_app:app    |    granian --interface asgi bench.bare_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_HEADERS = {"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}


async def beacon(request: Request) -> Response:
    return Response(status_code=204, headers=_HEADERS)


app = Starlette(routes=[Route("/i/{token}", beacon, methods=["GET", "POST", "HEAD"])])
