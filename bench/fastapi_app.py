"""The predecessor's stack for the benchmark: FastAPI on uvicorn answering the same two
requests as aitools (bench/run.sh starts it with `python3 -m uvicorn fastapi_app:app`)."""
from typing import Any

from fastapi import Body, FastAPI

app = FastAPI()


@app.get("/v1/hello/{name}")
async def hello(name: str) -> dict:
    return {"msg": f"hello {name}", "from": "aitools"}


@app.post("/v1/echo")
async def echo(body: Any = Body(...)) -> Any:
    return body
