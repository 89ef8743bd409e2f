# Agents never browse the raw log in the admin: a patient reads their own history in the portal, and
# investigations go through operators' tooling. Nothing is registered here on purpose.
