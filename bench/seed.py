"""Seed the benchmark database through services.py; print the handles as JSON (last line).

Run by the benchmarks in a subprocess whose environment names the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from chatbots.services import session_start  # noqa: E402
from core.actors import Agent  # noqa: E402
from support import services  # noqa: E402
from tests.factories import PASSWORD, AgentFactory, ChatbotFactory  # noqa: E402

CUSTOMER_ORIGIN = "https://customer.example"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--join", action="store_true", help="the agent joins every request")
    args = parser.parse_args()

    agent = AgentFactory.create(username="bench-agent", first_name="Bench")
    chatbot = ChatbotFactory.create(
        name="Bench bot", agents=[agent], allowed_origins=[CUSTOMER_ORIGIN]
    )
    pairs = []
    for n in range(args.requests):
        session, token = session_start(chatbot=chatbot)
        support_request, _ = services.request_create(
            session=session, user_name=f"Visitor {n}", initial_message="Benchmark"
        )
        if args.join:
            services.request_join(support_request=support_request, agent=Agent(agent))
        pairs.append({"request_id": support_request.request_id, "token": token})
    print(
        json.dumps(
            {
                "agent": {"username": agent.username, "password": PASSWORD},
                "origin": CUSTOMER_ORIGIN,
                "pairs": pairs,
            }
        )
    )


if __name__ == "__main__":
    main()
