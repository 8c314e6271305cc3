"""The insights page at 1,000 and 100,000 requests (more with --sizes) on PostgreSQL.

Creates its own database (handoff_bench_insights, dropped and re-made), migrates it,
bulk-inserts requests spread over 60 days across ten chatbots (sessions, times, one
email each), then for each size prints the page's query count and time, for a superuser
(every chatbot) and for an agent of one chatbot, and the plan of the main query.

    DEBUG=1 .venv/bin/python bench/insights.py [--sizes 1000,100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/handoff_bench_insights"
CHATBOTS = 10
RUNS = 5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if args.inside:
        measure(sizes)
        return
    from bench.harness import django_env, recreate_database

    recreate_database(DATABASE_URL)
    subprocess.run(
        [sys.executable, __file__, "--inside", "--sizes", args.sizes],
        cwd=BASE_DIR,
        env=django_env(DATABASE_URL, SECURE_SSL_REDIRECT="0"),
        check=True,
    )


def measure(sizes: list[int]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from support.insights.queries import insights_for
    from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory

    setup_test_environment()  # the test client's host, a local email backend
    superuser = SuperuserFactory(username="bench-superuser")
    agent = AgentFactory(username="bench-agent")
    chatbots = [ChatbotFactory(name=f"Bench bot {n}") for n in range(CHATBOTS)]
    chatbots[0].agents.add(agent)
    ids = [chatbot.pk for chatbot in chatbots]
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone() or ("?",)
    print(f"PostgreSQL {version}; {CHATBOTS} chatbots; requests over 60 days")
    inserted = 0
    for size in sizes:
        insert_requests(ids, start=inserted + 1, stop=size)
        inserted = size
        for who, user in (("superuser", superuser), ("agent", agent)):
            client = Client()
            client.force_login(user)
            client.get("/console/insights/")  # warm: session, templates, catalogs
            page_times, query_times = [], []
            for _ in range(RUNS):
                began = time.perf_counter()
                with CaptureQueriesContext(connection) as page_queries:
                    assert client.get("/console/insights/").status_code == 200
                page_times.append(time.perf_counter() - began)
                began = time.perf_counter()
                with CaptureQueriesContext(connection) as figure_queries:
                    insights_for(user=user)
                query_times.append(time.perf_counter() - began)
            print(
                f"{size:>9,} requests, {who:<9}: page {len(page_queries)} queries, "
                f"median {statistics.median(page_times) * 1000:.0f} ms; "
                f"figures {len(figure_queries)} queries, "
                f"median {statistics.median(query_times) * 1000:.0f} ms"
            )
        main_query = max(figure_queries.captured_queries, key=lambda q: len(q["sql"]))
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + main_query["sql"])
            plan = "\n".join(f"    {line}" for (line,) in cursor.fetchall())
        print(f"  plan of the request figures (agent of one chatbot, {size:,} requests):")
        print(plan)


def insert_requests(ids: list[int], *, start: int, stop: int) -> None:
    """Rows as the services leave them, written in bulk (the services take ~10 ms each)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_sessions (session_id, chatbot_id, token_hash, origin, created_at,"
            " last_used_at) SELECT 'bench-' || g, (%s::int[])[1 + g %% %s],"
            " md5('t' || g) || md5('u' || g), '', now(), now()"
            " FROM generate_series(%s, %s) g",
            [ids, len(ids), start, stop],
        )
        # 90 % joined within 10 minutes, 85 % answered, 70 % resolved, 5 % reopened.
        cursor.execute(
            "WITH g AS (SELECT g, now() - random() * interval '60 days' AS created,"
            " random() AS r FROM generate_series(%s, %s) g)"
            " INSERT INTO human_support_requests (request_id, chatbot_id, session_id,"
            " initial_message, status, language, created_at, updated_at, admin_joined_at,"
            " first_response_at, resolved_at, closed_at, reopened_count)"
            " SELECT 'bench-' || g, (%s::int[])[1 + g %% %s], 'bench-' || g, 'Benchmark',"
            " 'closed', '', created, created,"
            " CASE WHEN r < 0.9 THEN created + r * interval '10 minutes' END,"
            " CASE WHEN r < 0.85 THEN created + r * interval '15 minutes' END,"
            " CASE WHEN r < 0.7 THEN created + r * interval '2 hours' END,"
            " created + interval '3 hours', CASE WHEN r < 0.05 THEN 1 ELSE 0 END FROM g",
            [start, stop, ids, len(ids)],
        )
        cursor.execute(
            "INSERT INTO email_notifications (support_request_id, kind, recipient,"
            " recipient_key, status, attempts, last_error, provider_message_id, created_at,"
            " updated_at) SELECT id, 'admin_notification', 'admin@example.com', '',"
            " (ARRAY['delivered', 'delivered', 'delivered', 'sent', 'bounced', 'failed'])"
            "[1 + id % 6], 1, '', '', created_at, created_at FROM human_support_requests"
            " WHERE id > (SELECT coalesce(max(support_request_id), 0) FROM email_notifications)"
        )
        cursor.execute("ANALYZE")


if __name__ == "__main__":
    main()
