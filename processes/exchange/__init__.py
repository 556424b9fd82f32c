"""Exchange with other systems (对外交换): orders imported or pushed from the upstream platform (民呼我为 / 12345),
and webhook subscriptions that let secondary development follow case events."""
