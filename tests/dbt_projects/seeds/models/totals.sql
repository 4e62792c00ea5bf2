select v.id, v.lead + v.plus as total, c.label
from {{ ref('seedtypes', 'values') }} as v
left join {{ ref('codes') }} as c on c.code = lpad(v.lead::varchar, 3, '0')
