from alembic import context

from kongtun_common.migrations import run_env
from kongtun_funds.orm import metadata

run_env(context, metadata)
