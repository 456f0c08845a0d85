"""Redis scripts with named keys, named arguments and named results.

A script declares the keys it touches by name (`Script.keys`): they are passed in KEYS in
that order and bound to Lua locals of the same names; its arguments are one JSON object
(`arg.op_id`, `arg.fcu`, ...); it answers a flat list of name/value pairs (Redis turns Lua
numbers into exact integers, which JSON would round), read back as a dict whose `outcome`
names what happened.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis


@dataclass
class Script:
    keys: tuple[str, ...]
    body: str

    def source(self) -> str:
        binds = "\n".join(f"local {name} = KEYS[{index}]"
                          for index, name in enumerate(self.keys, start=1))
        return f"{binds}\nlocal arg = cjson.decode(ARGV[1])\n{self.body}"

    def bind(self, redis: aioredis.Redis) -> BoundScript:
        return BoundScript(self, redis.register_script(self.source()))


@dataclass
class BoundScript:
    script: Script
    registered: Any

    async def __call__(self, keys: Mapping[str, str], **args: Any) -> dict[str, Any]:
        """Run with every declared key given by name; the answer's pairs as a dict."""
        if set(keys) != set(self.script.keys):
            raise ValueError(f"keys {sorted(keys)} != {sorted(self.script.keys)}")
        flat = await self.registered(keys=[keys[name] for name in self.script.keys],
                                     args=[json.dumps(args)])
        values = [item.decode() if isinstance(item, bytes) else item for item in flat]
        return dict(zip(values[::2], values[1::2], strict=True))
