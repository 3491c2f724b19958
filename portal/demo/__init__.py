"""The demo estate of `make run`: a realistic serverless shop in the embedded local AWS, and the people
who run it. The alarms reach the catalog only through the real sync path."""
