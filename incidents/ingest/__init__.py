"""What comes in from outside: SNS envelopes (signature checked here), CloudWatch alarm messages from SNS and
EventBridge (parsed into one shape), and alarm history items. Pure functions over untrusted input; the
services decide what is stored."""
