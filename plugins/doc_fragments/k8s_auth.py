# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes connection options of the cluster modules.

The modules take their argument spec for these options from kubernetes.core
(``args_common.AUTH_ARG_SPEC``) and connect through its client, so names, types, aliases and
the ``K8S_AUTH_*`` environment fallbacks are kubernetes.core's and ``module_defaults`` written
for kubernetes.core work unchanged. The text lives here so that the documentation renders
where kubernetes.core is not installed (Galaxy's importer, ``ansible-doc`` on a bare install);
a unit test keeps this list equal to kubernetes.core's argument spec.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods

    DOCUMENTATION = r'''
options:
  kubeconfig:
    description:
      - The kubeconfig to use - a path to a file, several paths joined by V(:) (V(;) on Windows), or the
        kubeconfig itself as a dictionary.
      - When neither this nor any other connection option is given, the Kubernetes client reads
        C(~/.kube/config) or the in-cluster service account.
      - Falls back to the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - Name of the kubeconfig context to use instead of its current context.
      - Falls back to E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://api.example.com:6443).
      - Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Never logged.
      - Falls back to E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for HTTP basic authentication, for clusters that still accept it.
      - Falls back to E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for HTTP basic authentication (see O(username)). Never logged.
      - Falls back to E(K8S_AUTH_PASSWORD).
    type: str
  validate_certs:
    description:
      - Whether to check the API server's TLS certificate.
      - Falls back to E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to the CA certificate (the whole chain) that signed the API server's certificate.
      - Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate for TLS client authentication.
      - Falls back to E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the private key of O(client_cert).
      - Falls back to E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through. The usual E(HTTP_PROXY) variables are
        not read.
      - Falls back to E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains and CIDRs reached without O(proxy), for example
        V(localhost,.cluster.local,10.0.0.0/8).
      - Falls back to E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description: Headers sent to O(proxy).
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - V(user:password) for the proxy's basic authentication. Never logged.
          - Falls back to E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - V(user:password) for a basic authentication header. Never logged.
          - Falls back to E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - The C(User-Agent) header to send.
          - Falls back to E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  persist_config:
    description:
      - Whether the Kubernetes client may write refreshed tokens (OIDC and similar) back to the kubeconfig file.
      - Falls back to E(K8S_AUTH_PERSIST_CONFIG).
    type: bool
  impersonate_user:
    description:
      - User to act as, through the API server's impersonation.
      - Falls back to E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to act as, with O(impersonate_user).
      - Falls back to E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated).
    type: list
    elements: str
notes:
  - The connection options are those of M(kubernetes.core.k8s), with the same names, aliases and
    environment fallbacks; C(module_defaults) for C(group/vmnet.kubevirt.vmnet) give them to every
    cluster module of this collection.
  - The modules connect through the C(kubernetes.core) collection (a dependency of this one) and the
    C(kubernetes) Python client.
'''
