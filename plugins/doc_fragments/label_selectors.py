# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The label selector option of the info modules that list objects."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):  # pylint: disable=too-few-public-methods

    DOCUMENTATION = r'''
options:
  label_selectors:
    description:
      - Label selectors, ANDed, in the API server's syntax - V(key=value), V(key!=value), V(key in (a,b)),
        V(key) or V(!key).
      - Applied by the API server to the list request.
    type: list
    elements: str
    default: []
'''
