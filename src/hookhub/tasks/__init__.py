"""Background tasks (Svix's ``qtask_…``): long operations that a worker runs and a restart resumes.

``store.start`` records a task (``running``) in the caller's transaction; ``runner.TaskRunner``
(in every process that runs the delivery worker) leases it and calls its kind's ``step`` page by
page (``operations``), each page in one transaction with the task's progress, until the step says
it is done; ``api`` serves ``GET /api/v1/background-task[/{id}]``.
"""
