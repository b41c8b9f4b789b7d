from jsp_common.migrations import run_env
from dashboard.adapters.tables import metadata

run_env(metadata)
