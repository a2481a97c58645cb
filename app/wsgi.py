"""gunicorn's entry point: ``gunicorn -c app/gunicorn_conf.py 'app.wsgi:create()'``."""
from . import create_app


def create():
    """Build the app from the environment (APP_MODE and the rest)."""
    return create_app()
