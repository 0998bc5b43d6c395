# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of how the cluster modules talk to the Kubernetes API (module_utils/_k8s.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods

    DOCUMENTATION = r'''
options:
  request_timeout:
    description:
      - Seconds one API request may take (connecting and answering) before it is abandoned and retried.
      - A stalled API server thus costs at most O(request_timeout) per attempt instead of the whole stall.
    type: float
    default: 20
  retry_budget:
    description:
      - Seconds the module may spend waiting between retries of one request. Transient answers (429, 500, 502, 503,
        504, timeouts, dropped connections) are retried up to 5 times with exponential back-off, or after the
        server's C(Retry-After), never earlier than the server asked.
      - A C(Retry-After) longer than what is left of the budget fails the request at once with a message saying so.
    type: float
    default: 30
  force_conflicts:
    description:
      - Writes are server-side apply with the field manager C(vmnet.kubevirt). A field that another field manager
        (C(kubectl edit), a controller) owns with a different value is a conflict, and by default the module fails
        naming each such field and its manager, writing nothing.
      - V(true) makes C(vmnet.kubevirt) the owner of those fields and writes the declared values.
    type: bool
    default: false
notes:
  - What the task declares is what the object holds for the fields the collection owns. A field applied by an
    earlier run and left out now (a label, a list such as a pool's C(namespace_name)) is removed; fields other managers own
    are kept. Objects written by earlier versions of the collection (merge patches, owner C(OpenAPI-Generator))
    have the fields the collection renders handed over to C(vmnet.kubevirt) first, so removals work on them too;
    labels and annotations in the Kubernetes, KubeVirt, Spiderpool and Multus domains stay with their owners.
'''
