"""Glossarian web app placeholder: the Gradio chat arrives with the web issue; for now this answers from the CLI."""
from glossarian.cli import main

if __name__ == "__main__":
    main()
