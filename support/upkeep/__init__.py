"""Scheduled upkeep: the jobs and their intervals (schedule.py), the scheduler's database
lease (lease.py), the retention purge (retention.py); run by `manage.py run_scheduler`."""
