from syncengine.cli import app

app(prog_name="syncengine")
