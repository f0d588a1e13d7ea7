"""Notifications: reminders sent to people."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..http import json_response, read_query, route
from ..schemas import example

TAG = "notifications"


class ReminderQuery(Schema):
    project_id = fields.UUID(load_default=None)
    recipient = fields.String(load_default=None, validate=validate.Length(max=300))


class ReminderOut(Schema):
    id = fields.UUID()
    project_id = fields.UUID()
    recipient = fields.String(**example("ชมรมผู้สูงอายุบ้านไร่"))
    role = fields.String(**example("owner"))
    channel = fields.String(**example("record"))
    language = fields.String(**example("th"))
    subject = fields.String(**example("แจ้งเตือน: รายงานผลการดำเนินงาน (ส.3) ครบกำหนดส่ง 8 มิถุนายน 2567"))
    body = fields.String()
    created_at = fields.DateTime()


class NotificationsRoutes:
    @route(
        "GET",
        "/api/v1/notifications/reminders",
        "Reminders sent to people",
        TAG,
        query=ReminderQuery,
        response=ReminderOut,
        many=True,
        errors=(422, 503),
    )
    def reminders(self, request):
        query = read_query(request, ReminderQuery)
        project_id = str(query["project_id"]) if query["project_id"] else None
        return json_response({"items": self.notifications.reminders(project_id, query["recipient"])})
