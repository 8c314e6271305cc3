"""Exit 0 when the PostgreSQL and Redis URLs given answer, else 1 with the reason."""

import sys

import environ
import psycopg
import redis


def main(pg_url: str, redis_url: str) -> int:
    db = environ.Env.db_url_config(pg_url)
    try:
        psycopg.connect(
            host=db["HOST"],
            port=db["PORT"] or 5432,
            user=db["USER"],
            dbname=db["NAME"],
            connect_timeout=3,
        ).close()
    except Exception as exc:
        print(f"PostgreSQL at {pg_url} does not answer: {exc}", file=sys.stderr)
        return 1
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        print(f"Redis at {redis_url} does not answer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
