"""Notification service: renders customer messages and stores them once in S3."""
