"""Reading a Distributed Map's items from S3 (the runtime's side of ``ItemReader``):
:mod:`.reader` performs the read task, :mod:`.formats` parses objects as they stream in,
:mod:`.s3` is the one S3 client it uses."""
