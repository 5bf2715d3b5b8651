-- Tasks are created suspended; the user resumes them once the dbt projects are deployed.
ALTER TASK {task} RESUME;
