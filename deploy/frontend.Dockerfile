# syntax=docker/dockerfile:1
# Baton's web front door: nginx serving the built single-page app and
# proxying /api to the API service. Build from the repository root:
#   docker build -f deploy/frontend.Dockerfile -t baton-frontend .

# --- build: the SPA into /src/frontend/dist ---------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# The build generates its API client from ../openapi.yaml.
COPY openapi.yaml /src/openapi.yaml
COPY frontend/ ./
RUN npm run build

# --- runtime -----------------------------------------------------------------
FROM nginx:alpine AS runtime
# nginx.conf is a template: the image's entrypoint fills in ${BATON_*} and
# ${NGINX_LOCAL_RESOLVERS} (the container's DNS, so a recreated api container
# is found at its new address) and writes conf.d/default.conf.
RUN rm -f /etc/nginx/conf.d/default.conf
COPY deploy/nginx.conf /etc/nginx/templates/default.conf.template
COPY --from=build /src/frontend/dist /usr/share/nginx/html
ENV NGINX_ENTRYPOINT_LOCAL_RESOLVERS=1 \
    BATON_API_UPSTREAM=api:8080 \
    BATON_CLIENT_MAX_BODY_SIZE=2m
EXPOSE 80
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD wget -q -O /dev/null http://127.0.0.1/ || exit 1
