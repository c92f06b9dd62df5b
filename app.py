"""Glossarian web app: the chat at /, the wiki widget at /widget, the JSON API at /api/ask.

`uvicorn app:app` or `python app.py` (same as `glossarian serve`); settings come from GLOSSARIAN_* variables.
Importing this module builds the app without serving it.
"""
from glossarian.assistant import Assistant
from glossarian.config import Settings
from glossarian.web import create_app, serve

settings = Settings.from_env()
assistant = Assistant(settings)
app = create_app(settings, assistant)

if __name__ == "__main__":
    serve(settings, app)
