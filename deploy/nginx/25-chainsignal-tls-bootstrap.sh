#!/bin/sh
# nginx image hook (/docker-entrypoint.d/): runs at container start, after
# 20-envsubst-on-templates.sh has rendered templates/default.conf.template into
# /etc/nginx/conf.d/default.conf.
#
# The full configuration needs the Let's Encrypt certificate for ${DOMAIN}; before
# certbot has issued it nginx would refuse to start. In that case this hook renders
# the HTTP-only bootstrap.conf.template over it instead: nginx serves the ACME
# challenge, certbot gets the certificate, and `docker compose restart nginx` runs
# this hook again and keeps the full configuration.
#
# POSIX sh, no `exit`: some versions of the image source hooks instead of running them.
# The two CHAINSIGNAL_* directories are overridable for .ci/deploy-checks only.

chainsignal_live="${CHAINSIGNAL_LETSENCRYPT_DIR:-/etc/letsencrypt}/live/${DOMAIN:-}"
chainsignal_conf="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}/default.conf"
chainsignal_bootstrap="${CHAINSIGNAL_NGINX_DIR:-/etc/nginx/chainsignal}/bootstrap.conf.template"

if [ -z "${DOMAIN:-}" ]; then
    echo "$0: DOMAIN is not set; leaving the nginx configuration as it is" >&2
elif [ -s "$chainsignal_live/fullchain.pem" ] && [ -s "$chainsignal_live/privkey.pem" ]; then
    echo "$0: certificate for ${DOMAIN} found: full HTTPS configuration"
else
    echo "$0: WARNING: no certificate in $chainsignal_live yet: serving the HTTP-only bootstrap configuration (ACME challenges only). Obtain the certificate with certbot, then run: docker compose restart nginx" >&2
    # Same substitution as the image's template step: ${DOMAIN} only.
    # shellcheck disable=SC2016 # the single quotes are envsubst's variable list
    envsubst '${DOMAIN}' < "$chainsignal_bootstrap" > "$chainsignal_conf"
fi
