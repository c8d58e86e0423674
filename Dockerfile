# wecom_base on the official Odoo image (docker-compose.yml builds both targets).
#
#   docker build --build-arg ODOO_VERSION=18.0 -t wecom-odoo .                 Odoo with the addons
#   docker build --build-arg ODOO_VERSION=18.0 --target tests -t wecom-tests . the same, plus what the tests need
#
# The official image (odoo/docker) is Ubuntu noble with Python 3.12 and Odoo from its deb package (every addon
# under /usr/lib/python3/dist-packages/odoo/addons), running as the user odoo. Ubuntu's Python is "externally
# managed" (PEP 668), so the addons' Python dependency comes from Ubuntu's packages (python3-cachetools;
# requests, cryptography and lxml come with Odoo), installed once here, at build time, never at start.
ARG ODOO_VERSION=18.0
FROM odoo:${ODOO_VERSION} AS addons
ARG ODOO_VERSION
ENV ODOO_VERSION=${ODOO_VERSION}
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-cachetools \
    && rm -rf /var/lib/apt/lists/*
# the addons on the image's own addons mount point (the image's odoo.conf puts it on the addons path)
COPY --chown=odoo:odoo wecom_base /mnt/extra-addons/wecom_base
COPY --chown=odoo:odoo wecom_auth /mnt/extra-addons/wecom_auth
COPY --chown=odoo:odoo wecom_hr /mnt/extra-addons/wecom_hr
COPY docker/wecom-init /usr/local/bin/wecom-init
USER odoo

# The test image: the whole suite (./scripts/test) inside the Odoo image, browser tours included. The
# repository is mounted at /mnt/wecom at run time; the test command's virtual environment (system
# site-packages, so Odoo and its dependencies are the image's) is made here so a run downloads nothing.
FROM addons AS tests
USER root
# Chromium for the tours: Ubuntu's chromium package is only a snap wrapper, which does not run in a
# container, so Google's Chrome deb is used (Odoo's own runbot does the same).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git python3-venv curl ca-certificates \
    && curl -sSL -o /tmp/chrome.deb https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb \
    && apt-get install -y --no-install-recommends /tmp/chrome.deb \
    && rm -rf /var/lib/apt/lists/* /tmp/chrome.deb
COPY requirements.txt requirements-test.txt requirements-lint.txt /opt/wecom-reqs/
COPY requirements/ /opt/wecom-reqs/requirements/
COPY scripts/_pyenv.sh /opt/wecom-reqs/scripts/_pyenv.sh
ENV WECOM_VENV=/opt/wecom-venv WECOM_REQUIRE_ODOO=1
RUN bash -c '. /opt/wecom-reqs/scripts/_pyenv.sh && wecom_pyenv /opt/wecom-reqs' \
    && chown -R odoo:odoo /opt/wecom-venv
USER odoo
# the mounted checkout belongs to the host's user: let git (the wheel check lists tracked files) read it
RUN git config --global --add safe.directory /mnt/wecom
WORKDIR /mnt/wecom
ENTRYPOINT []
CMD ["./scripts/test"]
