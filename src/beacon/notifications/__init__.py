"""Telling people that something is ready for them: in-app notifications, and emails (SMTP, in a
job) to those who want them. An email says only that something is ready and links to Beacon:
never feedback, levels, a draft, or anything about another student."""
