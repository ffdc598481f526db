"""Who is calling (protocol README §2): ``X-Agent-ID`` when sent and non-empty, else the API key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    id: str
    api_key: str  # the key's label: the raw key for configured keys, "key:<prefix>" for stored ones
    is_operator: bool = False
    agent_header: bool = False  # True when the identity came from X-Agent-ID

    # DRF and Django treat request.user as a user object; a principal is always authenticated.
    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return self.id

    def may_act_for(self, agent_id: str) -> bool:
        return self.is_operator or self.id == agent_id


SYSTEM = Principal(id="system", api_key="", is_operator=True)


def principal_for_user(user) -> Principal:
    """The principal of a signed-in operator or arbitrator (admin actions, review screens)."""
    return Principal(id=f"user:{user.get_username()}", api_key="", is_operator=bool(user.is_staff))
