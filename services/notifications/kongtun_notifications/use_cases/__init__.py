"""Use cases of the notifications service: one function per use case, on a unit of work or a session.

Every message is decided in the transaction of what caused it (an event, a meeting change, a reminder
falling due): a ``notifications`` row (the in-app record) and a ``deliveries`` row per channel, each with
an idempotency key (source + recipient + channel) that a repeat cannot insert twice.  The delivery loop
(``delivery.py``) sends due rows and marks them.

Split by area; every name stays importable from ``use_cases``."""

from kongtun_common.errors import Conflict, InvalidInput, NotFound  # noqa: F401

from .base import MAIL_DOMAIN, WEBHOOK_TYPES, insert_or_ignore, new_id  # noqa: F401
from .meetings import (  # noqa: F401
    _live_agenda,
    _meeting_payload,
    _meeting_row,
    _meeting_webhook,
    _next_meeting,
    _notices,
    _open_resolutions,
    _schedule_reminders,
    _series_row,
    _series_scopes,
    _tell_invitees,
    cancel,
    committee_feed,
    create_series,
    dispatch_meeting_reminders,
    extend_series,
    get_meeting,
    get_series,
    invitees,
    list_meetings,
    list_series,
    meeting_ics,
    meeting_ics_text,
    meeting_out,
    meeting_view,
    record_attendance,
    record_minutes,
    reschedule,
    series_out,
)
from .recipients import (  # noqa: F401
    _deliveries_by_notification,
    _recipient_row,
    _recipient_values,
    _roles_of,
    _to_recipient,
    _write_roles,
    as_invitees,
    fan_out_webhooks,
    get_recipient,
    list_notifications,
    list_recipients,
    list_reminders,
    notify,
    owner_invitees,
    recipient_notifications,
    recipient_out,
    recipients_with,
    register_recipient,
    unsubscribe,
    update_recipient,
)
from .reminders import (  # noqa: F401
    _record_notice,
    _tell_fund_people,
    on_fund_report_due,
    on_fund_report_overdue,
    on_project_decided,
    on_project_submitted,
    on_report_due,
    on_report_overdue,
)
from .webhooks import (  # noqa: F401
    _quiet_hours_of,
    _subscription_row,
    claim_due,
    delivery_counts,
    disable_subscription,
    enable_subscription,
    get_subscription,
    record_outcome,
    subscribe,
    subscription_deliveries,
    subscription_out,
)
