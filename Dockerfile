FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
# torch from PyTorch's CPU index first (PyPI's torch==2.13.0 is the CUDA build, several GB);
# requirements.txt then finds it installed.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_DEBUG=1 UNITY_STATIC_MANIFEST=1 python manage.py collectstatic --noinput
RUN useradd --create-home unity && mkdir -p /data/media /data/private && chown -R unity /data
USER unity
EXPOSE 8000
